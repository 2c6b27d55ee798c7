ALTER TABLE `deliveries` ADD `threshold_bps` real;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `max_size_quote` real;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `max_profit_quote` real;