-- The demo's outbox: mail the shop "sends" (magic login links), shown at /outbox instead of
-- leaving the machine, so a link reaches only the mailbox of the user it logs in.
CREATE TABLE IF NOT EXISTS outbox (
    id BIGSERIAL PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
