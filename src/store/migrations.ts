import type Database from 'better-sqlite3';

/**
 * Numbered schema migrations; `user_version` records the last one applied.
 * Append only: never edit a migration that has shipped.
 */
const MIGRATIONS: string[] = [
  // 1: layers, their entries, images, tags.
  `
  CREATE TABLE layers (
    diff_id           TEXT PRIMARY KEY,   -- sha256 of the uncompressed tar, also its blob name
    size              INTEGER NOT NULL,   -- uncompressed bytes
    entry_count       INTEGER NOT NULL,
    added_at          INTEGER NOT NULL
  );
  -- Compressed forms as received, so save and push reproduce the original digests.
  CREATE TABLE layer_blobs (
    digest            TEXT PRIMARY KEY,
    diff_id           TEXT NOT NULL REFERENCES layers(diff_id) ON DELETE CASCADE,
    size              INTEGER NOT NULL,
    media_type        TEXT NOT NULL,
    compression       TEXT NOT NULL
  );
  CREATE INDEX layer_blobs_diff_id ON layer_blobs(diff_id);
  CREATE TABLE entries (
    diff_id           TEXT NOT NULL REFERENCES layers(diff_id) ON DELETE CASCADE,
    path              TEXT NOT NULL,
    type              TEXT NOT NULL,
    mode              INTEGER NOT NULL,
    uid               INTEGER NOT NULL,
    gid               INTEGER NOT NULL,
    size              INTEGER NOT NULL,
    mtime_sec         INTEGER NOT NULL,
    mtime_nsec        INTEGER NOT NULL,
    linkname          TEXT,
    devmajor          INTEGER,
    devminor          INTEGER,
    xattrs            TEXT,               -- JSON {name: base64}
    whiteout          INTEGER NOT NULL,
    opaque            INTEGER NOT NULL,
    data_offset       INTEGER NOT NULL,
    PRIMARY KEY (diff_id, path)
  ) WITHOUT ROWID;
  CREATE TABLE images (
    id                TEXT PRIMARY KEY,   -- config digest
    manifest_digest   TEXT NOT NULL,
    manifest_media_type TEXT NOT NULL,
    created           TEXT,
    architecture      TEXT,
    os                TEXT,
    size              INTEGER NOT NULL,   -- uncompressed bytes of all layers
    added_at          INTEGER NOT NULL
  );
  CREATE TABLE image_layers (
    image_id          TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,   -- 0 = base (oldest) layer
    diff_id           TEXT NOT NULL REFERENCES layers(diff_id),
    blob_digest       TEXT NOT NULL,      -- the layer digest the manifest names
    PRIMARY KEY (image_id, position)
  ) WITHOUT ROWID;
  CREATE INDEX image_layers_diff_id ON image_layers(diff_id);
  CREATE TABLE tags (
    name              TEXT PRIMARY KEY,   -- docker.io/library/busybox:latest
    image_id          TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    tagged_at         INTEGER NOT NULL
  );
  CREATE INDEX tags_image_id ON tags(image_id);
  CREATE TABLE repo_digests (
    name              TEXT PRIMARY KEY,   -- docker.io/library/busybox@sha256:...
    image_id          TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
  );
  CREATE INDEX repo_digests_image_id ON repo_digests(image_id);
  `,
  // 2: the merged lower view of an image, computed once, so a lookup is one probe.
  `
  CREATE TABLE views (
    image_id          TEXT PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    entry_count       INTEGER NOT NULL,
    file_bytes        INTEGER NOT NULL
  );
  CREATE TABLE view_entries (
    image_id          TEXT NOT NULL REFERENCES views(image_id) ON DELETE CASCADE,
    path              TEXT NOT NULL,      -- '' is the root
    parent            TEXT NOT NULL,
    name              TEXT NOT NULL,
    diff_id           TEXT,               -- layer the entry comes from; NULL for implicit directories
    source_path       TEXT,               -- the entry's path in that layer (a hardlink's target)
    ino               INTEGER NOT NULL,
    nlink             INTEGER NOT NULL,
    PRIMARY KEY (image_id, path)
  ) WITHOUT ROWID;
  CREATE INDEX view_entries_parent ON view_entries(image_id, parent, name);
  `,
  // 3: containers: an image plus a writable layer (an overlayfs upperdir on the host).
  `
  CREATE TABLE containers (
    id                TEXT PRIMARY KEY,   -- 64 hex
    name              TEXT NOT NULL UNIQUE,
    image_id          TEXT NOT NULL REFERENCES images(id),
    image_ref         TEXT NOT NULL,      -- the name it was created from, as given
    created           TEXT NOT NULL,      -- ISO 8601
    upper_dir         TEXT NOT NULL,
    work_dir          TEXT NOT NULL,
    mounted_at        TEXT                -- mount point while mounted
  );
  CREATE INDEX containers_image_id ON containers(image_id);
  `,
  // 4: mounts the service keeps (lamina serve): restored when it starts, kept through a clean stop.
  `
  CREATE TABLE mounts (
    dir               TEXT PRIMARY KEY,   -- canonical mount point
    image_id          TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    container_id      TEXT UNIQUE REFERENCES containers(id) ON DELETE CASCADE, -- NULL: the image itself
    read_only         INTEGER NOT NULL,
    created           TEXT NOT NULL       -- ISO 8601
  );
  `,
  // 5: questions asked of layers and images (lamina layers, which, diff, find).
  `
  ALTER TABLE entries ADD COLUMN content_digest TEXT;   -- sha256 of a regular file's data, computed on first need
  ALTER TABLE layers ADD COLUMN content_digests INTEGER NOT NULL DEFAULT 0; -- 1 once every regular file has one
  CREATE INDEX entries_content_digest ON entries(content_digest) WHERE content_digest IS NOT NULL;
  CREATE INDEX view_entries_source ON view_entries(diff_id, source_path);
  -- What each layer of an image changes in the view of the layers below it, computed once per image.
  CREATE TABLE change_sets (
    id                INTEGER PRIMARY KEY,
    image_id          TEXT NOT NULL UNIQUE REFERENCES images(id) ON DELETE CASCADE
  );
  CREATE TABLE layer_changes (
    set_id            INTEGER NOT NULL REFERENCES change_sets(id) ON DELETE CASCADE,
    position          INTEGER NOT NULL,   -- the layer making the change, 0 = base
    path              TEXT NOT NULL,
    kind              TEXT NOT NULL,      -- A added, C replaced, D removed
    listed            INTEGER NOT NULL,   -- docker diff lists it (not the root, not below a removed directory)
    type              TEXT NOT NULL,      -- the type after (A, C) or before (D) the change
    implicit          INTEGER NOT NULL,   -- a directory the layer does not record, made for entries below it
    PRIMARY KEY (set_id, path, position)
  ) WITHOUT ROWID;
  CREATE INDEX layer_changes_position ON layer_changes(set_id, position, path);
  `,
  // 6: the build cache: the image each build step made from its parent image, so an unchanged
  // step is reused (docker's "Using cache"), and the parent of every built image.
  `
  CREATE TABLE build_cache (
    parent_id         TEXT NOT NULL,      -- the image the step ran on; '' for FROM scratch
    step_key          TEXT NOT NULL,      -- sha256 of the step: instruction, inputs, content digests
    image_id          TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    created           TEXT NOT NULL,      -- ISO 8601
    PRIMARY KEY (parent_id, step_key)
  );
  CREATE INDEX build_cache_image_id ON build_cache(image_id);
  `,
  // 7: how a container runs (docker's Config and HostConfig) and the state of its process.
  `
  ALTER TABLE containers ADD COLUMN spec TEXT;                       -- JSON RunSpec; NULL: the image's defaults
  ALTER TABLE containers ADD COLUMN state TEXT NOT NULL DEFAULT 'created'; -- created|running|restarting|exited
  ALTER TABLE containers ADD COLUMN pid INTEGER;                     -- host PID of the container's first process
  ALTER TABLE containers ADD COLUMN monitor_pid INTEGER;             -- the process that supervises it
  ALTER TABLE containers ADD COLUMN monitor_start INTEGER;           -- its start time (clock ticks after boot): a PID can be reused
  ALTER TABLE containers ADD COLUMN monitor_socket TEXT;             -- where that process answers
  ALTER TABLE containers ADD COLUMN exit_code INTEGER;
  ALTER TABLE containers ADD COLUMN started_at TEXT;                 -- ISO 8601
  ALTER TABLE containers ADD COLUMN finished_at TEXT;
  ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE containers ADD COLUMN stopped_by_user INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE containers ADD COLUMN error TEXT;                      -- why the last start failed
  `,
];

/** Bring the database to the latest schema, one transaction per migration. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
