-- What was last applied to each Tencent UserID, so late or redelivered events cannot undo newer
-- ones: a create or update older than the last applied event is skipped, and none brings back a
-- user whose deletion was applied (the tombstone).
CREATE TABLE IF NOT EXISTS user_state (
  user_id TEXT PRIMARY KEY,      -- mapped Tencent UserID
  last_at INTEGER,               -- provider event time (Unix s) of the newest applied event
  deleted_at INTEGER             -- set when a deletion (kick or delete) was applied
);
