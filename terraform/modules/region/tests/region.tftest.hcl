# The region module alone, planned against a mocked cluster: the objects a
# region is made of and how the binaries are wired.
mock_provider "kubernetes" {}

variables {
  region                 = "eu-west"
  image                  = "registry.example.com/statusedge:1.4.0"
  voter                  = true
  origin_replicas        = 3
  join_url               = "http://origin-eu-west-0.origin-eu-west-peers.statusedge.svc.cluster.local:7070"
  origin_max_unavailable = 1
  gossip_seeds           = ["origin-us-east-0.origin-us-east-peers.statusedge.svc.cluster.local:7946"]
  trusted_proxies        = ["173.245.48.0/20"]
  secrets = {
    operator_token = "test-operator-token-0123456789"
    cluster_secret = "test-cluster-secret-0123456789"
    edge_secret    = "test-edge-secret-0123456789ab"
    gossip_key     = "00112233445566778899aabbccddeeff"
  }
}

run "origin_statefulset" {
  command = plan

  assert {
    condition     = kubernetes_stateful_set.origin.spec[0].service_name == kubernetes_service.origin_peers.metadata[0].name && kubernetes_service.origin_peers.spec[0].cluster_ip == "None" && kubernetes_service.origin_peers.spec[0].publish_not_ready_addresses
    error_message = "origin pods get per-pod DNS names from a headless Service that publishes them before they are ready"
  }
  assert {
    condition     = kubernetes_stateful_set.origin.spec[0].replicas == 3 && kubernetes_stateful_set.origin.spec[0].pod_management_policy == "Parallel"
    error_message = "3 replicas, started in parallel (ordered start would wait for a quorum that needs the later pods)"
  }
  assert {
    condition     = one(kubernetes_stateful_set.origin.spec[0].volume_claim_template).spec[0].resources[0].requests.storage == "10Gi" && one(kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].volume_mount).mount_path == "/data"
    error_message = "each replica keeps raft on its own persistent volume at /data"
  }
  assert {
    condition     = kubernetes_stateful_set.origin.spec[0].update_strategy[0].type == "RollingUpdate" && kubernetes_stateful_set.origin.spec[0].update_strategy[0].rolling_update[0].partition == 0 && kubernetes_stateful_set.origin.wait_for_rollout
    error_message = "origins roll one pod at a time (partition 0) and Terraform waits for the rollout"
  }
  assert {
    condition = (
      kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].readiness_probe[0].http_get[0].path == "/readyz" &&
      kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].readiness_probe[0].http_get[0].port == "7070" &&
      kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].liveness_probe[0].http_get[0].path == "/livez"
    )
    error_message = "origin readiness is /readyz (caught up) and liveness /livez, on the API port"
  }
  assert {
    condition     = kubernetes_stateful_set.origin.spec[0].template[0].spec[0].security_context[0].run_as_non_root && kubernetes_stateful_set.origin.spec[0].template[0].spec[0].security_context[0].fs_group == 65532
    error_message = "origins run as the image's non-root user and can write their volume"
  }
  assert {
    condition     = kubernetes_pod_disruption_budget.origin.spec[0].max_unavailable == "1"
    error_message = "the origin PodDisruptionBudget takes the root's share of the fault tolerance"
  }
  assert {
    condition = alltrue([for a in [
      "--voter=true",
      "--id=$(POD_NAME)",
      "--data=/data",
      "--join=http://origin-eu-west-0.origin-eu-west-peers.statusedge.svc.cluster.local:7070",
      "--gossip-join=gossip-eu-west.statusedge.svc.cluster.local:7946,origin-us-east-0.origin-us-east-peers.statusedge.svc.cluster.local:7946",
    ] : contains(kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].args, a)])
    error_message = "origin flags: got ${jsonencode(kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].args)}"
  }
  assert {
    condition     = toset(nonsensitive(keys(kubernetes_secret.origin.data))) == toset(["STATUSEDGE_OPERATOR_TOKEN", "STATUSEDGE_CLUSTER_SECRET", "STATUSEDGE_EDGE_SECRET", "STATUSEDGE_GOSSIP_KEY"]) && toset(nonsensitive(keys(kubernetes_secret.edge.data))) == toset(["STATUSEDGE_EDGE_SECRET", "STATUSEDGE_GOSSIP_KEY"])
    error_message = "the origin Secret holds the four secrets, the edge Secret only the edge secret and the gossip key"
  }
}

run "edges_redis_and_gossip" {
  command = plan

  assert {
    condition     = kubernetes_service.edge.spec[0].type == "LoadBalancer" && toset([for p in kubernetes_service.edge.spec[0].port : p.port]) == toset([80, 443])
    error_message = "visitors reach the edges on 80 and 443"
  }
  assert {
    condition     = kubernetes_horizontal_pod_autoscaler.edge.spec[0].min_replicas == 2 && kubernetes_horizontal_pod_autoscaler.edge.spec[0].max_replicas == 10 && kubernetes_horizontal_pod_autoscaler.edge.spec[0].scale_target_ref[0].name == kubernetes_deployment.edge.metadata[0].name
    error_message = "an autoscaler scales the edge Deployment between 2 and 10"
  }
  assert {
    condition     = kubernetes_pod_disruption_budget.edge.spec[0].max_unavailable == "1" && kubernetes_deployment.edge.wait_for_rollout
    error_message = "edges have a disruption budget, and Terraform waits for their rollout (the next region waits for it)"
  }
  assert {
    condition = (
      kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].readiness_probe[0].http_get[0].path == "/readyz" &&
      kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].readiness_probe[0].http_get[0].port == "8080" &&
      kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].liveness_probe[0].http_get[0].path == "/livez"
    )
    error_message = "edge readiness is /readyz (the site registry held) and liveness /livez, on the listen port"
  }
  assert {
    condition = alltrue([for a in [
      "--origin=http://origin-eu-west.statusedge.svc.cluster.local:7070",
      "--redis=redis-eu-west.statusedge.svc.cluster.local:6379",
      "--trusted-proxy=173.245.48.0/20",
    ] : contains(kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].args, a)])
    error_message = "edge flags: got ${jsonencode(kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].args)}"
  }
  assert {
    condition     = length(kubernetes_stateful_set.redis) == 1 && contains(kubernetes_stateful_set.redis[0].spec[0].template[0].spec[0].container[0].args, "allkeys-lru")
    error_message = "the region runs its own Redis L2 (an LRU cache) by default"
  }
  assert {
    condition     = kubernetes_service.gossip.spec[0].publish_not_ready_addresses && toset([for p in kubernetes_service.gossip.spec[0].port : p.protocol]) == toset(["TCP", "UDP"])
    error_message = "the memberlist Service carries gossip over TCP and UDP for ready and unready pods"
  }
}

run "external_redis_and_bootstrap" {
  command = plan

  variables {
    redis_address = "redis.cache.internal:6380"
    bootstrap     = true
    join_url      = ""
  }
  assert {
    condition     = length(kubernetes_stateful_set.redis) == 0 && contains(kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].args, "--redis=redis.cache.internal:6380")
    error_message = "with redis_address the edges use that Redis and none is run here"
  }
  assert {
    condition     = kubernetes_stateful_set.origin.spec[0].replicas == 1 && contains(kubernetes_stateful_set.origin.spec[0].template[0].spec[0].container[0].args, "--bootstrap")
    error_message = "a bootstrapping region runs pod 0 alone, with --bootstrap"
  }
}

run "https_at_the_edge" {
  command = plan

  variables {
    https            = { enabled = true, acme_email = "ops@example.com" }
    origin_fallbacks = ["http://origin-us-east-0.origin-us-east-peers.statusedge.svc.cluster.local:7070"]
    secrets = {
      operator_token = "test-operator-token-0123456789"
      cluster_secret = "test-cluster-secret-0123456789"
      edge_secret    = "test-edge-secret-0123456789ab"
      gossip_key     = "00112233445566778899aabbccddeeff"
      cert_secret    = "test-cert-secret-0123456789abc"
    }
  }
  assert {
    condition = alltrue([for a in [
      "--https-listen=0.0.0.0:8443",
      "--http-listen=0.0.0.0:8081",
      "--acme-email=ops@example.com",
      "--origin=http://origin-eu-west.statusedge.svc.cluster.local:7070,http://origin-us-east-0.origin-us-east-peers.statusedge.svc.cluster.local:7070",
    ] : contains(kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].args, a)])
    error_message = "with https the edge serves TLS and ACME, and falls back on other regions' origins: got ${jsonencode(kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].args)}"
  }
  assert {
    condition     = { for p in kubernetes_service.edge.spec[0].port : p.port => p.target_port } == { "80" = "8081", "443" = "8443" }
    error_message = "with https, 443 reaches the edge's TLS and 80 its ACME and redirect port"
  }
  assert {
    condition     = contains(nonsensitive(keys(kubernetes_secret.edge.data)), "STATUSEDGE_CERT_SECRET") && contains(nonsensitive(keys(kubernetes_secret.origin.data)), "STATUSEDGE_CERT_SECRET") && !contains(nonsensitive(keys(kubernetes_secret.edge.data)), "STATUSEDGE_CLUSTER_SECRET")
    error_message = "with https both Secrets carry the cert secret, and the edge's still no cluster secret"
  }
  assert {
    condition     = kubernetes_deployment.edge.spec[0].template[0].spec[0].container[0].readiness_probe[0].http_get[0].port == "8080"
    error_message = "the probes stay on the plain --listen port"
  }
}
