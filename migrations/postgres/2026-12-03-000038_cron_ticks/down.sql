DROP TABLE cron_ticks;
