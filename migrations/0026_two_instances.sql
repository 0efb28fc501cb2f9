-- Two or more `fordra serve` behind a proxy: the personal-data access log keeps the client's
-- address (from X-Forwarded-For when the proxy is trusted), and the BankID simulator keeps its
-- orders in the database so a login started on one instance completes on another.
alter table personal_data_access add column ip text;

-- The simulator's whole state (orders, queued errors, clock offset) as one document, changed
-- under a row lock. Demo and tests only: a handful of orders at a time.
create table bankid_sim_state (
    id     int primary key check (id = 1),
    state  jsonb not null
);
insert into bankid_sim_state (id, state) values (1, '{}');
