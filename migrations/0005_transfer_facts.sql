CREATE TABLE `transfer_facts` (
	`venue` text NOT NULL,
	`asset` text NOT NULL,
	`network` text NOT NULL,
	`venue_network` text NOT NULL,
	`deposit_enabled` integer,
	`withdraw_enabled` integer,
	`withdraw_fee` real,
	`withdraw_min` real,
	`contract` text,
	`fetched_at_ms` integer NOT NULL,
	`source` text NOT NULL,
	PRIMARY KEY(`venue`, `asset`, `network`)
);
--> statement-breakpoint
CREATE TABLE `transfer_fetches` (
	`venue` text PRIMARY KEY NOT NULL,
	`ok_at_ms` integer,
	`error` text,
	`error_at_ms` integer
);
