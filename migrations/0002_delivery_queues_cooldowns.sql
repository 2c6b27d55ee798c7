ALTER TABLE `deliveries` ADD `cooldown_key` text;--> statement-breakpoint
CREATE INDEX `deliveries_chat_queue_idx` ON `deliveries` (`platform`,`chat_id`,`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `deliveries_created_cooldown_idx` ON `deliveries` (`created_at`,`cooldown_key`);