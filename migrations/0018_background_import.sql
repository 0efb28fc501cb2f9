-- A claims file a partner uploads for a customer is imported in the background: the row keeps
-- the job's state and progress so the page can show "340 av 1 200 klara" and the outcome.
alter table claim_import
    add column state      text not null default 'preview'
        check (state in ('preview', 'queued', 'running', 'done', 'refused', 'failed')),
    add column processed  int not null default 0,
    add column result     jsonb,
    add column updated_at timestamptz;
