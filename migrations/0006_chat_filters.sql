ALTER TABLE `chats` ADD `ignored_assets` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `chats` ADD `venues` text;--> statement-breakpoint
ALTER TABLE `chats` ADD `min_lifetime_ms` integer;