-- The worker leases partner by partner, only from partners that can receive: pending rows by
-- partner and due time, so a held partner's backlog is never walked (the lease used to walk
-- every pending row in due order and skip the held ones, on the writer).
DROP INDEX notifications_due;
CREATE INDEX notifications_partner_due ON notifications (client_id, next_attempt_at)
    WHERE status = 'pending';
