-- A drained gateway gets no devices assigned; those on it move to the other
-- gateways of its region. Set by `homegate gateways drain`, cleared by
-- `homegate gateways resume`.
ALTER TABLE gateways ADD COLUMN drained_at INTEGER;
