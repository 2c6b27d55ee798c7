ALTER TABLE `chats` ADD `ignored_assets` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `chats` ADD `venues` text;