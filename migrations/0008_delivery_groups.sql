ALTER TABLE `deliveries` ADD `group_key` text;--> statement-breakpoint
CREATE INDEX `deliveries_message_idx` ON `deliveries` (`platform`,`chat_id`,`message_id`);