-- wrk: POST /api/v1/claims with a fresh invoice number on every request (a repeated one would
-- be refused as a duplicate). Each wrk thread numbers its own requests.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"invoice_number":"L-%d-%d-%d","capital":"2500.00","invoice_date":"2026-01-10","due_date":"2026-02-09",' ..
    '"reminder_fee_agreed":true,"debtor":{"kind":"person","id_number":"198112189876","name":"Sven Svensson",' ..
    '"capacity":"consumer","address":{"street":"Storgatan 1","postal_code":"11122","city":"Stockholm"}}}',
    thread_id, counter, os.time())
  return wrk.format("POST", "/api/v1/claims", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("FORDRA_KEY"),
  }, body)
end
