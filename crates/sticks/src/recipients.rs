//! The employee list for a batch: a CSV file with a header row.
//!
//! Recognised columns (any order, case-insensitive): `name` (required),
//! `street`, `postcode`, `city`, `address` (extra lines, `|`-separated),
//! `email`, `username`. Other columns (an HR export has many) are ignored
//! and named in [`ParsedCsv::ignored`], so a typo can be seen. Every bad row
//! is reported at once, by its line in the file.

use api_types::sticks::Recipient;

/// One problem in the file, with its line number (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    pub line: u64,
    pub message: String,
}

impl std::fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

const KNOWN: [&str; 7] = [
    "name", "street", "postcode", "city", "address", "email", "username",
];

/// The recipients of a file, each with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCsv {
    pub recipients: Vec<Recipient>,
    /// The line of each recipient in the file (1 is the header).
    pub lines: Vec<u64>,
    /// Columns of the header that are not among the known ones, as written.
    pub ignored: Vec<String>,
}

/// The recipients of a file, or every problem in it.
pub fn parse_csv(text: &str) -> Result<ParsedCsv, Vec<CsvProblem>> {
    let (parsed, problems) = parse_csv_all(text);
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

/// The good rows of a file and the problems of the others, so that checks
/// of the good rows (usernames) can be reported together with them.
pub fn parse_csv_all(text: &str) -> (ParsedCsv, Vec<CsvProblem>) {
    let empty = ParsedCsv {
        recipients: Vec::new(),
        lines: Vec::new(),
        ignored: Vec::new(),
    };
    let text = text.trim_start_matches('\u{feff}');
    let delimiter = if text
        .lines()
        .next()
        .is_some_and(|h| h.contains(';') && !h.contains(','))
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(text.as_bytes());
    let written: Vec<String> = match reader.headers() {
        Ok(headers) => headers.iter().map(|h| h.trim().to_owned()).collect(),
        Err(e) => {
            return (
                empty,
                vec![CsvProblem {
                    line: 1,
                    message: e.to_string(),
                }],
            );
        }
    };
    let headers: Vec<String> = written.iter().map(|h| h.to_ascii_lowercase()).collect();
    let ignored: Vec<String> = written
        .iter()
        .zip(&headers)
        .filter(|(_, lower)| !KNOWN.contains(&lower.as_str()))
        .map(|(written, _)| written.clone())
        .collect();
    if !headers.iter().any(|h| h == "name") {
        let message = format!(
            "the header has no name column (known columns: {}){}",
            KNOWN.join(", "),
            if ignored.is_empty() {
                String::new()
            } else {
                format!("; not known: {}", ignored.join(", "))
            }
        );
        return (
            ParsedCsv { ignored, ..empty },
            vec![CsvProblem { line: 1, message }],
        );
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let mut recipients = Vec::new();
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position().map(csv::Position::line))
            .unwrap_or(index as u64 + 2);
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                problems.push(CsvProblem {
                    line,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let field = |name: &str| {
            column(name)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .unwrap_or("")
                .to_owned()
        };
        let name = field("name");
        if name.is_empty() {
            problems.push(CsvProblem {
                line,
                message: "the name is empty".to_owned(),
            });
            continue;
        }
        let mut address: Vec<String> = Vec::new();
        if !field("street").is_empty() {
            address.push(field("street"));
        }
        let place = format!("{} {}", field("postcode"), field("city"))
            .trim()
            .to_owned();
        if !place.is_empty() {
            address.push(place);
        }
        address.extend(
            field("address")
                .split('|')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
        let email = field("email");
        if !email.is_empty() && !email.contains('@') {
            problems.push(CsvProblem {
                line,
                message: format!("'{email}' is not an e-mail address"),
            });
            continue;
        }
        let username = Some(field("username")).filter(|u| !u.is_empty());
        lines.push(line);
        recipients.push(Recipient {
            name,
            address,
            email,
            username,
        });
    }
    (
        ParsedCsv {
            recipients,
            lines,
            ignored,
        },
        problems,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_any_order_with_address_lines() {
        let text = "Email,Name,Street,Postcode,City\nerika@example.org,Erika Mustermann,Hauptstraße 1,12345,Musterstadt\n,Jan Jansen,,,\n";
        let parsed = parse_csv(text).unwrap();
        assert_eq!(parsed.lines, [2, 3]);
        let recipients = parsed.recipients;
        assert_eq!(recipients.len(), 2);
        assert_eq!(
            recipients[0].address,
            ["Hauptstraße 1", "12345 Musterstadt"]
        );
        assert_eq!(recipients[0].email, "erika@example.org");
        assert!(recipients[1].address.is_empty());
    }

    #[test]
    fn semicolons_from_spreadsheets_work() {
        let recipients = parse_csv("\u{feff}name;username\nPiet;piet\n")
            .unwrap()
            .recipients;
        assert_eq!(recipients[0].username.as_deref(), Some("piet"));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let problems = parse_csv("name,email\nA,a@x\n,b@x\nC,not-mail\n").unwrap_err();
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4]);
    }

    #[test]
    fn unknown_columns_are_ignored_and_named() {
        let parsed =
            parse_csv("Personalnummer,Name,Kostenstelle,Email\n4711,Erika,KST 12,erika@x\n")
                .unwrap();
        assert_eq!(parsed.ignored, ["Personalnummer", "Kostenstelle"]);
        assert_eq!(parsed.recipients[0].name, "Erika");
        assert_eq!(parsed.recipients[0].email, "erika@x");
    }

    #[test]
    fn a_missing_name_column_is_refused_naming_what_was_not_known() {
        let problems = parse_csv("nmae,email\nA,a@x\n").unwrap_err();
        assert_eq!(problems[0].line, 1);
        assert!(
            problems[0].message.contains("not known: nmae"),
            "{problems:?}"
        );
        assert!(parse_csv("email\na@x\n").is_err());
    }
}
