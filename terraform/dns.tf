# Geo steering with Cloudflare Load Balancing: one pool per region (its
# edges' load balancer, health-checked on /readyz), and one load balancer on
# the public hostname that sends each Cloudflare geo region to the pool of
# the statusedge region that lists it, falling back to the others in
# rollout order when that pool is unhealthy. Why Cloudflare: README, "Geo DNS".

locals {
  dns_regions = var.dns == null ? {} : { for i, r in var.regions : r.name => i }
  # pool ids in rollout order, for the default and fallback lists
  pool_ids = [for r in var.regions : cloudflare_load_balancer_pool.region[r.name].id if var.dns != null]
}

resource "cloudflare_load_balancer_monitor" "edge" {
  count          = var.dns == null ? 0 : 1
  description    = "statusedge edges: GET /readyz (the site registry held)"
  type           = "http"
  method         = "GET"
  path           = "/readyz"
  port           = 80
  expected_codes = "200"
  interval       = 60
  timeout        = 5
  retries        = 2
  header {
    header = "Host"
    values = [var.dns.hostname]
  }
}

resource "cloudflare_load_balancer_pool" "region" {
  for_each    = local.dns_regions
  name        = "statusedge-${each.key}"
  description = "statusedge edges in ${each.key}"
  monitor     = cloudflare_load_balancer_monitor.edge[0].id
  origins {
    name    = each.key
    address = coalesce(var.regions[each.value].edge_address, local.region_modules[each.value].edge_address)
    enabled = true
  }
  minimum_origins    = 1
  notification_email = var.dns.notification_email
}

resource "cloudflare_load_balancer" "status" {
  count            = var.dns == null ? 0 : 1
  zone_id          = var.dns.zone_id
  name             = var.dns.hostname
  description      = "statusedge: visitors to the nearest region"
  proxied          = var.dns.proxied
  steering_policy  = "geo"
  default_pool_ids = local.pool_ids
  fallback_pool_id = local.pool_ids[0]

  dynamic "region_pools" {
    for_each = { for g in flatten([for i, r in var.regions : [for c in r.geo : { code = c, region = i }]]) : g.code => g.region }
    content {
      region = region_pools.key
      # the region's own pool first, then the rest in rollout order
      pool_ids = concat(
        [local.pool_ids[region_pools.value]],
        [for i, id in local.pool_ids : id if i != region_pools.value],
      )
    }
  }
}
