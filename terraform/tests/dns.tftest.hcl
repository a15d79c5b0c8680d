# Every provider configuration of the root module, aliases included, is
# mocked in every test file: an unmocked one would be the real provider.
# Each region's cluster gives its edge Service a load balancer address.
mock_provider "kubernetes" {
  alias = "r0"
  mock_resource "kubernetes_service" {
    override_during = plan
    defaults = {
      load_balancer_ingress = [{ ip = "198.51.100.10", hostname = "" }]
    }
  }
}
mock_provider "kubernetes" {
  alias = "r1"
  mock_resource "kubernetes_service" {
    override_during = plan
    defaults = {
      load_balancer_ingress = [{ ip = "198.51.100.11", hostname = "" }]
    }
  }
}
mock_provider "kubernetes" {
  alias = "r2"
  mock_resource "kubernetes_service" {
    override_during = plan
    defaults = {
      load_balancer_ingress = [{ ip = "198.51.100.12", hostname = "" }]
    }
  }
}
mock_provider "kubernetes" {
  alias = "r3"
  mock_resource "kubernetes_service" {
    override_during = plan
    defaults = {
      load_balancer_ingress = [{ ip = "198.51.100.13", hostname = "" }]
    }
  }
}
mock_provider "kubernetes" {
  alias = "r4"
  mock_resource "kubernetes_service" {
    override_during = plan
    defaults = {
      load_balancer_ingress = [{ ip = "198.51.100.14", hostname = "" }]
    }
  }
}
mock_provider "cloudflare" {
  mock_resource "cloudflare_load_balancer_monitor" {
    override_during = plan
    defaults        = { id = "monitor-edge" }
  }
}

# Three home regions hold the voters; two more regions replicate without
# voting. Test secrets only.
variables {
  image          = "registry.example.com/statusedge@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  operator_token = "test-operator-token-0123456789"
  cluster_secret = "test-cluster-secret-0123456789"
  edge_secret    = "test-edge-secret-0123456789ab"
  gossip_key     = "00112233445566778899aabbccddeeff"
  regions = [
    { name = "eu-west", kube_context = "gke-eu-west", role = "voter", geo = ["WEU", "EEU"] },
    { name = "us-east", kube_context = "eks-us-east", role = "voter", geo = ["ENAM"] },
    { name = "ap-south", kube_context = "gke-ap-south", role = "voter", geo = ["SAS", "SEAS"] },
    { name = "us-west", kube_context = "eks-us-west", role = "non-voter", origin_replicas = 2, geo = ["WNAM"] },
    { name = "sa-east", kube_context = "gke-sa-east", role = "non-voter", geo = ["NSAM", "SSAM"] },
  ]
  dns = {
    zone_id  = "0123456789abcdef0123456789abcdef"
    hostname = "status.example.com"
  }
  cloudflare_api_token = "test-cloudflare-token"
}

override_resource {
  target          = cloudflare_load_balancer_pool.region["eu-west"]
  override_during = plan
  values          = { id = "pool-eu-west" }
}
override_resource {
  target          = cloudflare_load_balancer_pool.region["us-east"]
  override_during = plan
  values          = { id = "pool-us-east" }
}
override_resource {
  target          = cloudflare_load_balancer_pool.region["ap-south"]
  override_during = plan
  values          = { id = "pool-ap-south" }
}
override_resource {
  target          = cloudflare_load_balancer_pool.region["us-west"]
  override_during = plan
  values          = { id = "pool-us-west" }
}
override_resource {
  target          = cloudflare_load_balancer_pool.region["sa-east"]
  override_during = plan
  values          = { id = "pool-sa-east" }
}

run "one_pool_per_region_geo_steered" {
  command = plan

  variables {
    regions = [
      { name = "eu-west", kube_context = "gke-eu-west", role = "voter", geo = ["WEU", "EEU"] },
      { name = "us-east", kube_context = "eks-us-east", role = "voter", geo = ["ENAM"], edge_address = "edge.us-east.example.net" },
      { name = "ap-south", kube_context = "gke-ap-south", role = "voter", geo = ["SAS", "SEAS"] },
      { name = "us-west", kube_context = "eks-us-west", role = "non-voter", origin_replicas = 2, geo = ["WNAM"] },
      { name = "sa-east", kube_context = "gke-sa-east", role = "non-voter", geo = ["NSAM", "SSAM"] },
    ]
  }
  assert {
    condition     = keys(cloudflare_load_balancer_pool.region) == ["ap-south", "eu-west", "sa-east", "us-east", "us-west"]
    error_message = "want one Cloudflare pool per region"
  }
  assert {
    condition = {
      for k, p in cloudflare_load_balancer_pool.region : k => one(p.origins).address
      } == {
      "eu-west"  = "198.51.100.10"
      "us-east"  = "edge.us-east.example.net"
      "ap-south" = "198.51.100.12"
      "us-west"  = "198.51.100.13"
      "sa-east"  = "198.51.100.14"
    }
    error_message = "each pool must point at its own region's edge load balancer (or its edge_address)"
  }
  assert {
    condition     = alltrue([for p in cloudflare_load_balancer_pool.region : p.monitor == "monitor-edge"])
    error_message = "every pool must be health-checked by the edge monitor"
  }
  assert {
    condition     = cloudflare_load_balancer_monitor.edge[0].path == "/readyz" && cloudflare_load_balancer_monitor.edge[0].expected_codes == "200"
    error_message = "the monitor must check the edges' /readyz (the site registry held)"
  }
  assert {
    condition     = cloudflare_load_balancer.status[0].steering_policy == "geo" && cloudflare_load_balancer.status[0].name == "status.example.com"
    error_message = "the public hostname must be steered by geography"
  }
  assert {
    condition = { for rp in cloudflare_load_balancer.status[0].region_pools : rp.region => rp.pool_ids[0] } == {
      WEU  = "pool-eu-west"
      EEU  = "pool-eu-west"
      ENAM = "pool-us-east"
      SAS  = "pool-ap-south"
      SEAS = "pool-ap-south"
      WNAM = "pool-us-west"
      NSAM = "pool-sa-east"
      SSAM = "pool-sa-east"
    }
    error_message = "each geo region must go to the pool of the region that lists it"
  }
  assert {
    condition     = alltrue([for rp in cloudflare_load_balancer.status[0].region_pools : length(rp.pool_ids) == 5 && length(distinct(rp.pool_ids)) == 5])
    error_message = "each geo region must fall back to every other pool"
  }
  assert {
    condition     = jsonencode(cloudflare_load_balancer.status[0].default_pool_ids) == jsonencode(["pool-eu-west", "pool-us-east", "pool-ap-south", "pool-us-west", "pool-sa-east"]) && cloudflare_load_balancer.status[0].fallback_pool_id == "pool-eu-west"
    error_message = "unlisted geos must go to the pools in rollout order, falling back to the first region"
  }
  assert {
    condition     = output.dns.pools == { "eu-west" = "pool-eu-west", "us-east" = "pool-us-east", "ap-south" = "pool-ap-south", "us-west" = "pool-us-west", "sa-east" = "pool-sa-east" }
    error_message = "the dns output must list the pool of each region"
  }
}

run "no_dns_no_cloudflare" {
  command = plan

  variables {
    dns                  = null
    cloudflare_api_token = ""
  }
  assert {
    condition     = length(cloudflare_load_balancer.status) == 0 && length(cloudflare_load_balancer_pool.region) == 0 && output.dns == null
    error_message = "without dns no Cloudflare object is planned"
  }
}
