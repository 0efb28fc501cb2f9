-- Creditor users have roles: the owner may change the payout account, invite and remove users
-- and manage API keys and webhooks; a user registers and follows claims. The user who signed
-- the company up is its owner; colleagues invited before roles existed are users.
alter table app_user add column creditor_owner boolean not null default true;
update app_user u set creditor_owner = false
 where u.role = 'creditor'
   and u.user_id <> (select x.user_id from app_user x where x.creditor_id = u.creditor_id
                     order by x.created_at, x.user_id limit 1);

-- Creditor accounts with no login and no claim for 12 months get a notice, and are closed 30
-- days later unless someone logs in. Open claims keep running.
alter table creditor add column inactivity_notice_on date;
alter table creditor add column closed_at timestamptz;
