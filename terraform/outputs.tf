# Nothing here carries a secret: the secrets are sensitive inputs that reach
# only kubernetes_secret data (a sensitive attribute).

output "rollout_order" {
  description = "Region names in the order they are rolled out."
  value       = [for m in local.region_modules : m.region]
}

output "regions" {
  description = "Per region: what it waited for, its origin StatefulSet and its edges as planned."
  value = { for m in local.region_modules : m.region => {
    rollout_after = m.rollout_after
    origin        = m.origin
    edge          = m.edge
    edge_address  = m.edge_address
  } }
}

output "voters" {
  description = "Raft voters in the cluster (origin replicas of voter regions) and how many may fail at once."
  value = {
    count           = local.voters
    fault_tolerance = local.fault_tolerance
    by_region       = { for i, r in var.regions : r.name => local.voters_by_region[i] }
  }
}

output "dns" {
  description = "The geo-steered hostname and its pool per region (null without dns)."
  value = var.dns == null ? null : {
    hostname        = var.dns.hostname
    steering_policy = cloudflare_load_balancer.status[0].steering_policy
    pools           = { for k, p in cloudflare_load_balancer_pool.region : k => p.id }
  }
}
