-- When a refresh token was spent, and the pair it was traded for (sealed), so that a second
-- use within a few seconds (two tabs refreshing at once) gets the same pair instead of counting
-- as a replay. The sealed pair is cleared by the sweep soon after.
ALTER TABLE refresh_tokens ADD COLUMN used_at INTEGER;
ALTER TABLE refresh_tokens ADD COLUMN successor TEXT;
