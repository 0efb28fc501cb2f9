-- A creditor reading a claim through the API opens the debtor's personal data just as much as
-- opening the claim page does: the access log names the API key (and so the creditor) instead
-- of a user.
alter table personal_data_access
    alter column actor_user_id drop not null,
    add column actor_api_key_id uuid references api_key,
    add constraint personal_data_access_one_actor
        check (num_nonnulls(actor_user_id, actor_api_key_id) = 1);
