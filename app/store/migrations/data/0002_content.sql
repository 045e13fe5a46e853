-- Content of the public site: posts, projects and pages, their tags, the
-- images they show and the responsive variants the worker makes of them.
-- Times are Unix seconds (UTC).

-- One row per post, project or page (kind). A row is visible to readers
-- when status is 'published' or 'scheduled' and published_at has passed:
-- a scheduled post appears at its time without anyone touching it.
CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('post', 'project', 'page')),
    slug         TEXT    NOT NULL CHECK (slug <> ''),
    title        TEXT    NOT NULL,
    summary      TEXT    NOT NULL DEFAULT '',
    body         TEXT    NOT NULL DEFAULT '',   -- Markdown
    body_text    TEXT    NOT NULL DEFAULT '',   -- body as plain text, for search
    cover_image  TEXT    NOT NULL DEFAULT '',   -- images.key, or ''
    status       TEXT    NOT NULL CHECK (status IN ('draft', 'scheduled', 'published')),
    featured     INTEGER NOT NULL DEFAULT 0,    -- projects shown on the home page
    published_at INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    source       TEXT    NOT NULL DEFAULT '',   -- where `site import` read it, for re-imports
    UNIQUE (kind, slug)
);
CREATE INDEX posts_visible ON posts (kind, status, published_at);

-- Tags by slug (lowercase, URL-safe); name is how the author wrote it.
CREATE TABLE tags (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL
);

CREATE TABLE post_tags (
    post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id  INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX post_tags_tag ON post_tags (tag_id);

-- Full-text search over title, summary and body, kept in step by triggers.
CREATE VIRTUAL TABLE posts_fts USING fts5 (
    title, summary, body_text,
    content = 'posts', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
    INSERT INTO posts_fts (rowid, title, summary, body_text) VALUES (new.id, new.title, new.summary, new.body_text);
END;
CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, summary, body_text) VALUES ('delete', old.id, old.title, old.summary, old.body_text);
END;
CREATE TRIGGER posts_fts_au AFTER UPDATE ON posts BEGIN
    INSERT INTO posts_fts (posts_fts, rowid, title, summary, body_text) VALUES ('delete', old.id, old.title, old.summary, old.body_text);
    INSERT INTO posts_fts (rowid, title, summary, body_text) VALUES (new.id, new.title, new.summary, new.body_text);
END;

-- Images shown by posts. Written by `site import` and by the admin upload
-- (issue 4); read by the pages.
--   key          the image's name and its key in the public bucket, e.g.
--                "posts/hello/photo.jpg". Until variants exist, pages show
--                the object at this key in the public bucket (the importer
--                puts the file there); writers that keep the original only
--                in private leave pages without a picture until variants
--                arrive.
--   original_key key of the untouched original in the private bucket.
--   width,height pixel size of the original after EXIF orientation; 0 when
--                not yet known.
--   alt          text alternative; the Markdown alt text wins when given.
--   placeholder  a tiny blurred preview as a data: URI, or ''.
--   created_at   Unix seconds.
CREATE TABLE images (
    key          TEXT PRIMARY KEY,
    original_key TEXT    NOT NULL DEFAULT '',
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    alt          TEXT    NOT NULL DEFAULT '',
    placeholder  TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Responsive variants of an image, written by the worker (issue 4) after it
-- stored the file in the public bucket:
--   image_key   images.key
--   width       pixel width of the variant; height its pixel height
--   format      "jpeg", "webp", "png" or "avif" (the MIME subtype)
--   object_key  key of the variant in the public bucket
--   bytes       its size
-- Pages render one srcset per format, widest last, with the original's
-- aspect ratio for width/height; a "thumb" is simply the narrowest width.
CREATE TABLE image_variants (
    image_key  TEXT    NOT NULL REFERENCES images (key) ON DELETE CASCADE,
    width      INTEGER NOT NULL,
    height     INTEGER NOT NULL,
    format     TEXT    NOT NULL,
    object_key TEXT    NOT NULL,
    bytes      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (image_key, width, format)
) WITHOUT ROWID;

-- content_version goes up on every change that can alter a rendered page,
-- whoever made it (the web role, `site import` in another process, the
-- worker adding variants): the web role's page cache compares it.
CREATE TABLE content_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO content_version (id, version) VALUES (1, 1);

CREATE TRIGGER posts_v_i AFTER INSERT ON posts BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER posts_v_u AFTER UPDATE ON posts BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER posts_v_d AFTER DELETE ON posts BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER tags_v_i AFTER INSERT ON tags BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER tags_v_u AFTER UPDATE ON tags BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER tags_v_d AFTER DELETE ON tags BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER post_tags_v_i AFTER INSERT ON post_tags BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER post_tags_v_d AFTER DELETE ON post_tags BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER images_v_i AFTER INSERT ON images BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER images_v_u AFTER UPDATE ON images BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER images_v_d AFTER DELETE ON images BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER image_variants_v_i AFTER INSERT ON image_variants BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER image_variants_v_u AFTER UPDATE ON image_variants BEGIN UPDATE content_version SET version = version + 1; END;
CREATE TRIGGER image_variants_v_d AFTER DELETE ON image_variants BEGIN UPDATE content_version SET version = version + 1; END;
