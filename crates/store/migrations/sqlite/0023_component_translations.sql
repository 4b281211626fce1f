-- A component's title, description, group and operator's note in other
-- languages: JSON, {"de": {"title": ..., "description": ..., "group": ...}}
-- and {"de": ..., "nl": ..., "en": ...}.
ALTER TABLE status_components ADD COLUMN translations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE status_components ADD COLUMN operator_note_translations TEXT NOT NULL DEFAULT '{}';
