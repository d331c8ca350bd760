-- The article body split into sentences, for answering members' questions about the study.
CREATE TABLE sentences (
    id         INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,         -- 1-based, in reading order over the whole article
    paragraph  INTEGER NOT NULL,         -- paragraphs.position of the paragraph it belongs to
    in_paragraph INTEGER NOT NULL,       -- 1-based, within that paragraph
    text       TEXT NOT NULL,
    UNIQUE (article_id, position)
);
CREATE INDEX sentences_paragraph ON sentences (article_id, paragraph, in_paragraph);

-- Porter stemming: "enrolled" finds "enrol", "opioids" finds "opioid".
CREATE VIRTUAL TABLE sentences_fts USING fts5(
    text, content='sentences', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER sentences_ai AFTER INSERT ON sentences BEGIN
    INSERT INTO sentences_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER sentences_ad AFTER DELETE ON sentences BEGIN
    INSERT INTO sentences_fts(sentences_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
