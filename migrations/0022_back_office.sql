-- The back office: support tickets with a staff side, and a tamper-evident audit log.

-- Tickets (ärenden) come from debtors, partners and creditors. What is kept about the sender
-- is a name, an e-mail address, a phone number and the messages, and nothing more.
alter table ticket add column creditor_id uuid references creditor;
alter table ticket add column opened_by uuid references app_user;
alter table ticket add column contact_name text;
alter table ticket add column contact_email text;
alter table ticket add column contact_phone text;
alter table ticket add column assigned_to uuid references app_user;
alter table ticket add column first_response_at timestamptz;
alter table ticket add column updated_at timestamptz;
alter table ticket add column closed_at timestamptz;
-- Second line: a question forwarded to the claim's creditor, waiting for its answer.
alter table ticket add column forwarded_at timestamptz;
update ticket set status = 'waiting' where status = 'answered';
update ticket set updated_at = created_at;
alter table ticket alter column updated_at set not null;
alter table ticket drop constraint ticket_status_check;
alter table ticket add constraint ticket_status_check check (status in ('open', 'waiting', 'closed'));
alter table ticket drop constraint ticket_from_check;
alter table ticket add constraint ticket_from_check
    check (num_nonnulls(personal_number, partner_id, creditor_id) = 1);
create index ticket_creditor_idx on ticket (creditor_id) where creditor_id is not null;
create index ticket_status_idx on ticket (status, updated_at);
update ticket t set contact_name = p.given_name || ' ' || p.surname, contact_email = p.email, contact_phone = p.phone
  from person p where p.personal_number = t.personal_number;
update ticket t set contact_name = u.display_name, contact_email = u.email
  from ticket_message m join app_user u on u.user_id = m.author_user_id
 where m.ticket_id = t.ticket_id and t.partner_id is not null and t.contact_email is null;

-- A message is from the sender, an answer from staff, an internal note (staff only), a question
-- forwarded to the creditor, or the creditor's answer to it. Staff record the minutes it took.
alter table ticket_message add column kind text not null default 'message'
    check (kind in ('message', 'answer', 'note', 'forward', 'creditor_answer'));
alter table ticket_message add column minutes int check (minutes between 0 and 1440);
update ticket_message set kind = 'answer' where author = 'staff';
alter table ticket_message drop constraint ticket_message_author_check;
alter table ticket_message add constraint ticket_message_author_check
    check (author in ('debtor', 'partner', 'creditor', 'staff'));
create index ticket_message_ticket_idx on ticket_message (ticket_id, ticket_message_id);

-- The audit log becomes a hash chain. Writers insert as before, in their own transactions; a
-- sealing step (the engine pass, `fordra verify-audit`) chains the committed rows in the order
-- it sees them: `seal_seq` orders the chain (ids can commit out of order), and `hash` is the
-- SHA-256 of the previous sealed row's hash and the row's own content.
alter table audit_event add column actor_role text;
alter table audit_event add column seal_seq bigint unique;
alter table audit_event add column prev_hash bytea;
alter table audit_event add column hash bytea;
create index audit_event_unsealed_idx on audit_event (audit_event_id) where seal_seq is null;
create index audit_event_actor_idx on audit_event (actor_user_id, at);
create index audit_event_subject_idx on audit_event (subject, at);
update audit_event a set actor_role = u.role from app_user u where u.user_id = a.actor_user_id;

-- Append-only: a row can be sealed once, and never otherwise changed or removed.
create function audit_event_append_only() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'audit_event is append-only';
  end if;
  if old.seal_seq is not null
     or (new.audit_event_id, new.at, new.actor_user_id, new.actor_role, new.action, new.subject, new.detail, new.ip)
        is distinct from
        (old.audit_event_id, old.at, old.actor_user_id, old.actor_role, old.action, old.subject, old.detail, old.ip) then
    raise exception 'audit_event is append-only';
  end if;
  return new;
end $$;
create trigger audit_event_append_only before update or delete on audit_event
    for each row execute function audit_event_append_only();

-- Every sealing run records the chain's head, so that removing the newest sealed rows (which
-- the chain alone cannot show) is found too.
create table audit_seal (
    audit_seal_id bigserial primary key,
    sealed_at     timestamptz not null,
    last_seq      bigint not null,
    last_hash     bytea not null
);
