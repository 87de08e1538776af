-- An object's own action history (`Campaign.actionLogs`, `Creative.actionLogs`), newest first:
-- one range of this index per object and page, whatever the size of the organization's log.
CREATE INDEX action_logs_org_target_created ON action_logs (organization_id, target_type, target_id, created_at DESC, id DESC);
