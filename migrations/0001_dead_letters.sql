-- Dead letters: jobs Tencent refused for good, or that were given up on, with the last error.
-- Applied by `wrangler d1 migrations apply tim-onboard` (--local for `make dev`, --remote to deploy).
CREATE TABLE IF NOT EXISTS dead_letters (
  id TEXT PRIMARY KEY,           -- queue message id
  provider TEXT NOT NULL,        -- route name of the provider
  user_id TEXT NOT NULL,         -- mapped Tencent UserID
  job TEXT NOT NULL,             -- the job as queued (JSON)
  code INTEGER,                  -- Tencent ErrorCode, when Tencent refused it
  reason TEXT NOT NULL,          -- the last error
  attempts INTEGER NOT NULL,     -- delivery attempts made
  first_seen INTEGER NOT NULL,   -- Unix ms
  last_seen INTEGER NOT NULL     -- Unix ms
);
CREATE INDEX IF NOT EXISTS dead_letters_user ON dead_letters (user_id);
CREATE INDEX IF NOT EXISTS dead_letters_last_seen ON dead_letters (last_seen);
