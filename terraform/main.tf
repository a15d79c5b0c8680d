locals {
  # Voters are the origin replicas of voter ("home") regions; raft needs a
  # majority of them. fault_tolerance voters may be down at once.
  voters_by_region = [for r in var.regions : r.role == "voter" ? r.origin_replicas : 0]
  voters           = sum(concat([0], local.voters_by_region))
  fault_tolerance  = floor(max(local.voters - 1, 0) / 2)

  # Each voter region's PodDisruptionBudget gets a share of the fault
  # tolerance, so that voluntary evictions in every region at once still
  # leave a quorum: shares in proportion to the region's voters, rounded
  # down, and what rounding left over goes one each to the earliest voter
  # regions. Non-voter regions take nothing from the quorum: 1.
  pdb_floor = [for v in local.voters_by_region : local.voters == 0 ? 0 : floor(local.fault_tolerance * v / local.voters)]
  pdb_left  = local.fault_tolerance - sum(concat([0], local.pdb_floor))
  pdb_rank  = [for i, v in local.voters_by_region : length([for j in range(i) : j if local.voters_by_region[j] > 0])]
  origin_max_unavailable = [for i, v in local.voters_by_region :
    v == 0 ? 1 : local.pdb_floor[i] + (local.pdb_rank[i] < local.pdb_left ? 1 : 0)
  ]

  peer_domains = [for r in var.regions :
    r.peer_domain != "" ? r.peer_domain : "origin-${r.name}-peers.${var.namespace}.svc.cluster.local"
  ]
  # Every origin pod joins through the first region's pod 0 (the bootstrap
  # replica); followers forward the join to the leader.
  join_url = "http://origin-${var.regions[0].name}-0.${local.peer_domains[0]}:7070"
  # A bootstrap checks that none of the replicas meant to join already
  # belongs to a cluster: the first region's other pods, pod 0 elsewhere.
  bootstrap_peers = concat(
    [for k in range(1, var.regions[0].origin_replicas) : "http://origin-${var.regions[0].name}-${k}.${local.peer_domains[0]}:7070"],
    [for j, s in var.regions : "http://origin-${s.name}-0.${local.peer_domains[j]}:7070" if j > 0],
  )
  # Gossip seeds: pod 0 of every other region (each region's own memberlist
  # Service is added by the module).
  gossip_seeds = [for i, r in var.regions :
    [for j, s in var.regions : "origin-${s.name}-0.${local.peer_domains[j]}:7946" if j != i]
  ]

  # An edge whose region's origin cannot answer falls back on pod 0 of the
  # other regions, in rollout order.
  origin_fallbacks = [for i, r in var.regions :
    [for j, s in var.regions : "http://origin-${s.name}-0.${local.peer_domains[j]}:7070" if j != i]
  ]

  secrets = {
    operator_token = var.operator_token
    cluster_secret = var.cluster_secret
    edge_secret    = var.edge_secret
    gossip_key     = var.gossip_key
    cert_secret    = var.cert_secret
  }
}

# One module per region slot, each after the one before it: a region's
# `healthy` output is known once its origin StatefulSet and edge Deployment
# have rolled out and are ready (the provider waits), so a release that
# breaks the first region never reaches the second.

module "region_0" {
  source    = "./modules/region"
  count     = length(var.regions) > 0 ? 1 : 0
  providers = { kubernetes = kubernetes.r0 }

  region                 = var.regions[0].name
  rollout_after          = ""
  namespace              = var.namespace
  image                  = var.image
  voter                  = var.regions[0].role == "voter"
  origin_replicas        = var.regions[0].origin_replicas
  bootstrap              = var.bootstrap
  bootstrap_peers        = var.bootstrap ? local.bootstrap_peers : []
  join_url               = var.bootstrap ? "" : local.join_url
  peer_domain            = local.peer_domains[0]
  origin_max_unavailable = local.origin_max_unavailable[0]
  origin_update_strategy = var.origin_update_strategy
  origin_partition       = var.origin_partition
  gossip_seeds           = local.gossip_seeds[0]
  edge_min_replicas      = var.regions[0].edge_min_replicas
  edge_max_replicas      = var.regions[0].edge_max_replicas
  trusted_proxies        = var.trusted_proxies
  origin_fallbacks       = local.origin_fallbacks[0]
  https                  = var.https
  redis_address          = var.regions[0].redis_address
  secrets                = local.secrets

  edge_service_annotations = var.edge_service_annotations
}

module "region_1" {
  source     = "./modules/region"
  count      = length(var.regions) > 1 ? 1 : 0
  providers  = { kubernetes = kubernetes.r1 }
  depends_on = [module.region_0]

  region                 = var.regions[1].name
  rollout_after          = module.region_0[0].healthy
  namespace              = var.namespace
  image                  = var.image
  voter                  = var.regions[1].role == "voter"
  origin_replicas        = var.regions[1].origin_replicas
  bootstrap              = false
  join_url               = local.join_url
  peer_domain            = local.peer_domains[1]
  origin_max_unavailable = local.origin_max_unavailable[1]
  origin_update_strategy = var.origin_update_strategy
  origin_partition       = var.origin_partition
  gossip_seeds           = local.gossip_seeds[1]
  edge_min_replicas      = var.regions[1].edge_min_replicas
  edge_max_replicas      = var.regions[1].edge_max_replicas
  trusted_proxies        = var.trusted_proxies
  origin_fallbacks       = local.origin_fallbacks[1]
  https                  = var.https
  redis_address          = var.regions[1].redis_address
  secrets                = local.secrets

  edge_service_annotations = var.edge_service_annotations
}

module "region_2" {
  source     = "./modules/region"
  count      = length(var.regions) > 2 ? 1 : 0
  providers  = { kubernetes = kubernetes.r2 }
  depends_on = [module.region_1]

  region                 = var.regions[2].name
  rollout_after          = module.region_1[0].healthy
  namespace              = var.namespace
  image                  = var.image
  voter                  = var.regions[2].role == "voter"
  origin_replicas        = var.regions[2].origin_replicas
  bootstrap              = false
  join_url               = local.join_url
  peer_domain            = local.peer_domains[2]
  origin_max_unavailable = local.origin_max_unavailable[2]
  origin_update_strategy = var.origin_update_strategy
  origin_partition       = var.origin_partition
  gossip_seeds           = local.gossip_seeds[2]
  edge_min_replicas      = var.regions[2].edge_min_replicas
  edge_max_replicas      = var.regions[2].edge_max_replicas
  trusted_proxies        = var.trusted_proxies
  origin_fallbacks       = local.origin_fallbacks[2]
  https                  = var.https
  redis_address          = var.regions[2].redis_address
  secrets                = local.secrets

  edge_service_annotations = var.edge_service_annotations
}

module "region_3" {
  source     = "./modules/region"
  count      = length(var.regions) > 3 ? 1 : 0
  providers  = { kubernetes = kubernetes.r3 }
  depends_on = [module.region_2]

  region                 = var.regions[3].name
  rollout_after          = module.region_2[0].healthy
  namespace              = var.namespace
  image                  = var.image
  voter                  = var.regions[3].role == "voter"
  origin_replicas        = var.regions[3].origin_replicas
  bootstrap              = false
  join_url               = local.join_url
  peer_domain            = local.peer_domains[3]
  origin_max_unavailable = local.origin_max_unavailable[3]
  origin_update_strategy = var.origin_update_strategy
  origin_partition       = var.origin_partition
  gossip_seeds           = local.gossip_seeds[3]
  edge_min_replicas      = var.regions[3].edge_min_replicas
  edge_max_replicas      = var.regions[3].edge_max_replicas
  trusted_proxies        = var.trusted_proxies
  origin_fallbacks       = local.origin_fallbacks[3]
  https                  = var.https
  redis_address          = var.regions[3].redis_address
  secrets                = local.secrets

  edge_service_annotations = var.edge_service_annotations
}

module "region_4" {
  source     = "./modules/region"
  count      = length(var.regions) > 4 ? 1 : 0
  providers  = { kubernetes = kubernetes.r4 }
  depends_on = [module.region_3]

  region                 = var.regions[4].name
  rollout_after          = module.region_3[0].healthy
  namespace              = var.namespace
  image                  = var.image
  voter                  = var.regions[4].role == "voter"
  origin_replicas        = var.regions[4].origin_replicas
  bootstrap              = false
  join_url               = local.join_url
  peer_domain            = local.peer_domains[4]
  origin_max_unavailable = local.origin_max_unavailable[4]
  origin_update_strategy = var.origin_update_strategy
  origin_partition       = var.origin_partition
  gossip_seeds           = local.gossip_seeds[4]
  edge_min_replicas      = var.regions[4].edge_min_replicas
  edge_max_replicas      = var.regions[4].edge_max_replicas
  trusted_proxies        = var.trusted_proxies
  origin_fallbacks       = local.origin_fallbacks[4]
  https                  = var.https
  redis_address          = var.regions[4].redis_address
  secrets                = local.secrets

  edge_service_annotations = var.edge_service_annotations
}

locals {
  # The region modules in rollout order, for dns.tf and the outputs.
  region_modules = concat(module.region_0, module.region_1, module.region_2, module.region_3, module.region_4)
}
