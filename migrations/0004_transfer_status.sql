ALTER TABLE `chats` ADD `transfer_mode` text DEFAULT 'any' NOT NULL;--> statement-breakpoint
ALTER TABLE `opportunities` ADD `transfer_status` text;--> statement-breakpoint
ALTER TABLE `opportunities` ADD `transfer` text;--> statement-breakpoint
CREATE INDEX `opportunities_transfer_status_opened_at_idx` ON `opportunities` (`transfer_status`,`opened_at`,`id`);