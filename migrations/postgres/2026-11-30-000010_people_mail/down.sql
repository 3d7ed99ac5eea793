ALTER TABLE mail_retries DROP COLUMN permanent;
ALTER TABLE users DROP COLUMN password_set_at;
