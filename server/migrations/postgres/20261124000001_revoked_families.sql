-- Revoked token families: every access token of a family fails while its family is here, which
-- lasts until the last token the family could have issued has expired. Replaces the per-token
-- denylist, which let a token issued earlier in the same session live on after logout.
CREATE TABLE IF NOT EXISTS revoked_families (
    family TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

DROP TABLE IF EXISTS jwt_denylist;
