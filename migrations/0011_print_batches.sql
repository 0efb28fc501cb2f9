-- Delivery by print batch: one PDF holding a batch of letters and a CSV manifest per batch.
-- A batch and its letters are recorded (committed) before its files are written, so a crash
-- between writing and committing the dispatch leaves an open batch that the next run writes
-- again under the same id, with the same letters in the same order.
create table print_batch (
    print_batch_id uuid primary key,
    created_at     timestamptz not null,
    letter_count   int not null,
    closed_at      timestamptz
);
create index print_batch_open_idx on print_batch (created_at) where closed_at is null;

-- A letter is in one print batch at most: the key makes printing a letter twice impossible.
create table print_batch_letter (
    letter_id      uuid primary key references letter,
    print_batch_id uuid not null references print_batch,
    position       int not null,
    unique (print_batch_id, position)
);

-- Dispatch sets the letter's fee by letter; without this it scanned every fee.
create index fee_letter_idx on fee (letter_id) where letter_id is not null;
