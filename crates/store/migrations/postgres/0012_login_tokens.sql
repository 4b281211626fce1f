-- Tokens issued by a login (bearer login tokens and browser sessions), as
-- opposed to API tokens made with POST /tokens: a password change ends the
-- user's other logins but keeps their API tokens. Existing login tokens are
-- recognised by their kind or their fixed 12-hour lifetime (created tokens
-- last whole days or forever).
ALTER TABLE api_tokens ADD COLUMN login BIGINT NOT NULL DEFAULT 0;
UPDATE api_tokens SET login = 1
    WHERE kind = 'console' OR (expires_at IS NOT NULL AND expires_at - created_at = 43200000);
