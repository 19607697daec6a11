-- Lets the inbox purge find old records without reading them all.
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
