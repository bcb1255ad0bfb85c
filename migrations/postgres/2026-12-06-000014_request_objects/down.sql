ALTER TABLE pushed_requests DROP COLUMN signed;
ALTER TABLE clients DROP COLUMN require_signed_request_object;
