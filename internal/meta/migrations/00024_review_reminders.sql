-- +goose Up

-- The inactivity review's reminders (packman PKM-16, docs/roles.md): when
-- an owner (user_id) was last mailed about the inactive people of a
-- package ('package:ID') or an organisation ('org:ID'), so that each is
-- reminded at most once per period.
CREATE TABLE review_reminders (
    user_id BIGINT NOT NULL REFERENCES users(id),
    subject {{.Text}} NOT NULL,
    sent_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, subject)
);

-- +goose Down
DROP TABLE review_reminders;
