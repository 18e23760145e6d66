-- A partner's notification base URL (CONTRACT §6.2, `admin partner set-callback`); NULL: none,
-- its notifications are held.
ALTER TABLE partners ADD COLUMN callback_url TEXT;
