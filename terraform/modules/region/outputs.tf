# No output carries a secret.

output "region" {
  description = "The region's name."
  value       = var.region
}

output "healthy" {
  description = "The region's name, known once its origin StatefulSet and edge Deployment have rolled out and are ready: the next region depends on it."
  value       = var.region
  depends_on = [
    kubernetes_stateful_set.origin,
    kubernetes_deployment.edge,
    kubernetes_stateful_set.redis,
    kubernetes_pod_disruption_budget.origin,
  ]
}

output "rollout_after" {
  description = "The region this one was rolled out after (empty for the first)."
  value       = var.rollout_after
}

output "origin" {
  description = "The origin StatefulSet as planned: what the tests and the runbook look at."
  value = {
    name      = kubernetes_stateful_set.origin.metadata[0].name
    replicas  = kubernetes_stateful_set.origin.spec[0].replicas
    voter     = var.voter
    voters    = var.voter ? local.origin_replicas : 0
    image     = kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].image
    args      = local.origin_args
    bootstrap = var.bootstrap
    # Environment variables by where their value comes from: the secrets
    # must all come from the Secret, none inline.
    env_from_secret = [for e in kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].env : e.name if length(try(e.value_from[0].secret_key_ref, [])) > 0]
    env_inline      = [for e in kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].env : e.name if try(e.value, null) != null && try(e.value, "") != ""]
    update_strategy = var.origin_update_strategy
    max_unavailable = var.origin_max_unavailable
    # Pod 0's API in this region: the join address the root hands the others.
    seed_api_url = "http://${local.origin_name}-0.${local.peer_domain}:7070"
    gossip_seed  = "${local.origin_name}-0.${local.peer_domain}:7946"
    api_url      = local.origin_url
  }
}

output "edge" {
  description = "The edge Deployment and its Service as planned."
  value = {
    name            = kubernetes_deployment.edge.metadata[0].name
    image           = kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].image
    args            = local.edge_args
    env_from_secret = [for e in kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].env : e.name if length(try(e.value_from[0].secret_key_ref, [])) > 0]
    env_inline      = [for e in kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].env : e.name if try(e.value, null) != null && try(e.value, "") != ""]
    min_replicas    = var.edge_min_replicas
    max_replicas    = var.edge_max_replicas
    redis           = local.redis_addr
  }
}

output "edge_address" {
  description = "The address visitors reach this region's edges at (the LoadBalancer's IP or hostname), known after apply."
  value = try(
    coalesce(
      kubernetes_service.edge.load_balancer_ingress[0].ip,
      kubernetes_service.edge.load_balancer_ingress[0].hostname,
    ),
    null,
  )
}
