DROP TABLE mail_retries;
