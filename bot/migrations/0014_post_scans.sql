-- A shared post's safety scan, made once when it is submitted and kept with it, so that its topic
-- tags, the moderators' queue embed and the quote search read it instead of scanning the text again.
-- scan_model is the digest of the detector that made it: NULL (a post from before this migration)
-- or another digest means "not scanned by this detector", and the readers scan the text as before
-- until re-tagging (which runs whenever the detector changes) stores a fresh scan. A withdrawn post
-- keeps none of it (scan_matched holds sentences of its text).
ALTER TABLE posts ADD COLUMN scan_tier TEXT CHECK (scan_tier IS NULL OR scan_tier IN ('crisis', 'possible'));
ALTER TABLE posts ADD COLUMN scan_crisis_score REAL;
ALTER TABLE posts ADD COLUMN scan_cure_score REAL;
ALTER TABLE posts ADD COLUMN scan_cure_claim INTEGER;
ALTER TABLE posts ADD COLUMN scan_sensitive INTEGER;
ALTER TABLE posts ADD COLUMN scan_matched TEXT;
ALTER TABLE posts ADD COLUMN scan_note TEXT;
ALTER TABLE posts ADD COLUMN scan_model TEXT;
