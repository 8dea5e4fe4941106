// SPDX-License-Identifier: GPL-2.0-only
#include "reasons.h"

static const struct {
	const char *name;
	const char *text;
} reasons[TG_REASON_COUNT] = {
	[TG_ALLOW_NOT_TENANT] = { "allow_not_tenant", "caller is not a tenant" },
	[TG_ALLOW_NOT_TCP] = { "allow_not_tcp", "not a stream socket (out of scope)" },
	[TG_ALLOW_REMOTE] = { "allow_remote", "destination is not an address of this host" },
	[TG_ALLOW_NO_LISTENER] = { "allow_no_listener", "nothing listens there" },
	[TG_ALLOW_OWN] = { "allow_own", "caller owns the listener" },
	[TG_ALLOW_PORT] = { "allow_port", "port is in allow-ports" },
	[TG_ALLOW_SERVICE] = { "allow_service",
			       "listener owned by a hub service (policy isolate)" },
	[TG_DENY_OTHER_TENANT] = { "deny_other_tenant", "listener owned by another tenant" },
	[TG_DENY_SERVICE] = { "deny_service", "listener owned by a hub service (policy strict)" },
	[TG_DENY_UNKNOWN_OWNER] = { "deny_unknown_owner", "listener whose owner cannot be read" },
	[TG_AUDIT_OTHER_TENANT] = { "audit_other_tenant",
				    "audit: listener owned by another tenant" },
	[TG_AUDIT_SERVICE] = { "audit_service", "audit: listener owned by a hub service" },
	[TG_AUDIT_UNKNOWN_OWNER] = { "audit_unknown_owner",
				     "audit: listener whose owner cannot be read" },
	[TG_ALLOW_RULE] = { "allow_rule", "an allow rule grants the caller this port" },
	[TG_ALLOW_BIND_OWN] = { "allow_bind_own", "port reserved for the caller" },
	[TG_ALLOW_BIND_OPEN] = { "allow_bind_open", "port reserved for nobody (bind-policy open)" },
	[TG_ALLOW_BIND_EPHEMERAL] = { "allow_bind_ephemeral", "port 0: the kernel picks one" },
	[TG_DENY_BIND_RESERVED] = { "deny_bind_reserved", "port reserved for another tenant" },
	[TG_DENY_BIND_UNRESERVED] = { "deny_bind_unreserved",
				      "port reserved for nobody (bind-policy reserved-only)" },
	[TG_AUDIT_BIND_RESERVED] = { "audit_bind_reserved",
				     "audit: port reserved for another tenant" },
	[TG_AUDIT_BIND_UNRESERVED] = { "audit_bind_unreserved",
				       "audit: port reserved for nobody (bind-policy reserved-only)" },
	[TG_DENY_TUNNEL_LIMIT] = { "deny_tunnel_limit",
				   "the tenant holds max-tunnels ports already" },
	[TG_AUDIT_TUNNEL_LIMIT] = { "audit_tunnel_limit",
				    "audit: the tenant holds max-tunnels ports already" },
};

const char *reason_name(unsigned int reason)
{
	return reason < TG_REASON_COUNT ? reasons[reason].name : "unknown";
}

const char *reason_text(unsigned int reason)
{
	return reason < TG_REASON_COUNT ? reasons[reason].text : "unknown reason";
}
