CREATE TABLE `chats` (
	`platform` text NOT NULL,
	`chat_id` text NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`paused_reason` text,
	`threshold_bps` real,
	`size_quote` real,
	`muted_until` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`platform`, `chat_id`)
);
--> statement-breakpoint
CREATE TABLE `deliveries` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`opportunity_id` text NOT NULL,
	`platform` text NOT NULL,
	`chat_id` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`message_id` text,
	`net_bps` real NOT NULL,
	`size_quote` real NOT NULL,
	`created_at` integer NOT NULL,
	`sent_at` integer,
	`edited_at` integer,
	`closed_shown` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deliveries_opportunity_chat_idx` ON `deliveries` (`opportunity_id`,`platform`,`chat_id`);--> statement-breakpoint
CREATE INDEX `deliveries_status_next_idx` ON `deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `subscriptions` (
	`platform` text NOT NULL,
	`chat_id` text NOT NULL,
	`symbol` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`platform`, `chat_id`, `symbol`)
);
