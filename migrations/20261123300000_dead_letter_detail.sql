-- Dead letters as the runtime keeps them: why (error class) and when the first and last attempts
-- started. Nullable: rows written before this migration (or spooled by an older build) lack them.
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS error_class TEXT;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS first_attempt_at TIMESTAMPTZ;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS last_attempt_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS dead_letters_class_failed ON dead_letters (error_class, failed_at DESC);

-- A dead letter mirrored after its replay or purge was audited takes its status from the audit:
-- "which audits name this job" must not scan the whole trail.
CREATE INDEX IF NOT EXISTS dead_letter_audit_job_ids ON dead_letter_audit USING gin (job_ids);
