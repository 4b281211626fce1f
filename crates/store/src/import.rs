//! Employees from CSV: parsing and checking every line before anything is
//! written. Pure: the caller supplies the usernames that exist and the
//! tenant's groups. Problems are codes with an argument; their words are the
//! Fluent messages of the same name (`import-exists`, …).

use std::collections::BTreeSet;

use api_types::{Language, Role};

use crate::validate;

/// Why a line (or the whole file) cannot be imported. `code` is a Fluent
/// message id, `arg` its one variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    pub code: &'static str,
    pub arg: Option<(&'static str, String)>,
}

impl ImportProblem {
    fn new(code: &'static str) -> ImportProblem {
        ImportProblem { code, arg: None }
    }

    fn with(code: &'static str, name: &'static str, value: &str) -> ImportProblem {
        ImportProblem {
            code,
            arg: Some((name, value.to_owned())),
        }
    }

    /// The problem in English, for logs and API details.
    pub fn english(&self) -> String {
        let arg = self.arg.as_ref().map_or("", |(_, v)| v.as_str());
        match self.code {
            "import-no-username" => {
                "the first line must name the columns and include \"username\"".into()
            }
            "import-malformed" => format!("the CSV cannot be read: {arg}"),
            "import-empty" => "the file lists nobody".into(),
            "import-exists" => "already exists".into(),
            "import-duplicate" => "appears twice in the file".into(),
            "import-bad-username" => format!("\"{arg}\" is not a valid username"),
            "import-bad-email" => format!("\"{arg}\" is not an e-mail address"),
            "import-bad-name" => "the name is longer than 200 characters".into(),
            "import-bad-role" => format!("unknown role \"{arg}\""),
            "import-unknown-group" => format!("unknown group \"{arg}\""),
            "import-bad-language" => format!("unknown language \"{arg}\""),
            other => other.to_owned(),
        }
    }
}

/// One line of the file, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// Line in the file (the header is line 1).
    pub line: usize,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub groups: Vec<String>,
    pub language: String,
    pub problem: Option<ImportProblem>,
}

impl ImportRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Employee)
    }

    pub fn language(&self) -> Option<Language> {
        Language::parse(&self.language)
    }
}

/// The lines of a file that could not be imported, each with its problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblems {
    /// `(line, problem)`; line 0 is the file as a whole.
    pub lines: Vec<(usize, ImportProblem)>,
}

/// Parses and checks an employee CSV: a header line naming the columns
/// (`username` required; `display_name`, `email`, `role`, `groups` with `;`
/// between groups, `language`), then one user per line.
pub fn check(
    csv: &str,
    existing: &BTreeSet<String>,
    groups: &BTreeSet<String>,
) -> Result<Vec<ImportRow>, ImportProblem> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(csv.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportProblem::with("import-malformed", "detail", &e.to_string()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let Some(username_column) = column("username") else {
        return Err(ImportProblem::new("import-no-username"));
    };
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record
            .map_err(|e| ImportProblem::with("import-malformed", "detail", &e.to_string()))?;
        let line = record
            .position()
            .map_or(rows.len() + 2, |p| usize::try_from(p.line()).unwrap_or(0));
        let field = |name: &str| {
            column(name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        let raw_username = record.get(username_column).unwrap_or("").trim().to_owned();
        let username = raw_username.to_lowercase();
        let role = Some(field("role"))
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "employee".into());
        let mut row_groups: Vec<String> = Vec::new();
        for group in field("groups").split(';').map(str::trim) {
            if !group.is_empty() && !row_groups.iter().any(|g| g == group) {
                row_groups.push(group.to_owned());
            }
        }
        let language = field("language");
        let display_name = field("display_name");
        let problem = if validate::username("username", &username).is_err() {
            Some(ImportProblem::with(
                "import-bad-username",
                "value",
                &raw_username,
            ))
        } else if existing.contains(&username) {
            Some(ImportProblem::new("import-exists"))
        } else if !seen.insert(username.clone()) {
            Some(ImportProblem::new("import-duplicate"))
        } else if !matches!(Role::parse(&role), Some(Role::Employee | Role::TenantAdmin)) {
            Some(ImportProblem::with("import-bad-role", "role", &role))
        } else if validate::email("email", Some(&field("email"))).is_err() {
            Some(ImportProblem::with(
                "import-bad-email",
                "value",
                &field("email"),
            ))
        } else if display_name.chars().count() > 200 || display_name.chars().any(char::is_control) {
            Some(ImportProblem::new("import-bad-name"))
        } else if let Some(unknown) = row_groups.iter().find(|g| !groups.contains(*g)) {
            Some(ImportProblem::with(
                "import-unknown-group",
                "group",
                unknown,
            ))
        } else if !language.is_empty() && Language::parse(&language).is_none() {
            Some(ImportProblem::with(
                "import-bad-language",
                "language",
                &language,
            ))
        } else {
            None
        };
        rows.push(ImportRow {
            line,
            display_name,
            email: field("email"),
            groups: row_groups,
            language,
            username,
            role,
            problem,
        });
    }
    if rows.is_empty() {
        return Err(ImportProblem::new("import-empty"));
    }
    Ok(rows)
}

/// Marks rows whose username turned out to exist (looked up after parsing).
pub fn mark_existing(rows: &mut [ImportRow], existing: &BTreeSet<String>) {
    for row in rows.iter_mut().filter(|r| r.problem.is_none()) {
        if existing.contains(&row.username) {
            row.problem = Some(ImportProblem::new("import-exists"));
        }
    }
}

/// All problems of checked rows, or none.
pub fn problems(rows: &[ImportRow]) -> Option<ImportProblems> {
    let lines: Vec<(usize, ImportProblem)> = rows
        .iter()
        .filter_map(|r| r.problem.clone().map(|p| (r.line, p)))
        .collect();
    (!lines.is_empty()).then_some(ImportProblems { lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let csv = "username,email,groups,role,language\n\
                   anna,anna@lemgo.de,staff,,de\n\
                   bad name,,,,\n\
                   bert,not-mail,,,\n\
                   anna,,,,\n\
                   carl,,nope,,\n\
                   dora,,,boss,\n\
                   emil,,,,xx\n\
                   old,,,,\n";
        let rows = check(csv, &set(&["old"]), &set(&["staff"])).unwrap();
        let found: Vec<(usize, &str)> = problems(&rows)
            .unwrap()
            .lines
            .iter()
            .map(|(line, p)| (*line, p.code))
            .collect();
        assert_eq!(
            found,
            vec![
                (3, "import-bad-username"),
                (4, "import-bad-email"),
                (5, "import-duplicate"),
                (6, "import-unknown-group"),
                (7, "import-bad-role"),
                (8, "import-bad-language"),
                (9, "import-exists"),
            ]
        );
        assert_eq!(rows[0].groups, vec!["staff".to_owned()]);
        assert_eq!(rows[0].language(), Some(Language::De));
    }

    #[test]
    fn a_file_without_username_column_is_refused() {
        assert_eq!(
            check("name\nanna\n", &set(&[]), &set(&[]))
                .unwrap_err()
                .code,
            "import-no-username"
        );
    }

    #[test]
    fn line_numbers_count_quoted_line_breaks() {
        let csv = "username,display_name\n\"a1\",\"two\nlines\"\n\"%%\",x\n";
        let rows = check(csv, &set(&[]), &set(&[])).unwrap();
        assert_eq!(rows[1].line, 4);
        assert_eq!(
            rows[1].problem.as_ref().unwrap().code,
            "import-bad-username"
        );
    }
}
