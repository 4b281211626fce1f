//! The employee list for a batch: a CSV file with a header row.
//!
//! Recognised columns (any order, case-insensitive): `name` (required),
//! `street`, `postcode`, `city`, `address` (extra lines, `|`-separated),
//! `email`, `username`. Unknown columns are refused so a typo does not
//! silently leave letters without an address.

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

pub fn parse_csv(text: &str) -> Result<Vec<Recipient>, Vec<CsvProblem>> {
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
    let headers: Vec<String> = match reader.headers() {
        Ok(headers) => headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        Err(e) => {
            return Err(vec![CsvProblem {
                line: 1,
                message: e.to_string(),
            }]);
        }
    };
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !KNOWN.contains(&h.as_str()))
        .collect();
    if !unknown.is_empty() || !headers.iter().any(|h| h == "name") {
        return Err(vec![CsvProblem {
            line: 1,
            message: format!(
                "the header must name the columns (name required; known: {}){}",
                KNOWN.join(", "),
                if unknown.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; unknown: {}",
                        unknown
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ),
        }]);
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let mut recipients = Vec::new();
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
        recipients.push(Recipient {
            name,
            address,
            email,
            username,
        });
    }
    if problems.is_empty() {
        Ok(recipients)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_any_order_with_address_lines() {
        let text = "Email,Name,Street,Postcode,City\nerika@example.org,Erika Mustermann,Hauptstraße 1,12345,Musterstadt\n,Jan Jansen,,,\n";
        let recipients = parse_csv(text).unwrap();
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
        let recipients = parse_csv("\u{feff}name;username\nPiet;piet\n").unwrap();
        assert_eq!(recipients[0].username.as_deref(), Some("piet"));
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let problems = parse_csv("name,email\nA,a@x\n,b@x\nC,not-mail\n").unwrap_err();
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4]);
    }

    #[test]
    fn unknown_columns_and_missing_names_are_refused() {
        assert!(
            parse_csv("nmae,email\nA,a@x\n").unwrap_err()[0]
                .message
                .contains("unknown: nmae")
        );
        assert!(parse_csv("email\na@x\n").is_err());
    }
}
