# Every provider configuration of the root module, aliases included, is
# mocked in every test file: an unmocked one would be the real provider.
mock_provider "kubernetes" {
  alias = "r0"
}
mock_provider "kubernetes" {
  alias = "r1"
}
mock_provider "kubernetes" {
  alias = "r2"
}
mock_provider "kubernetes" {
  alias = "r3"
}
mock_provider "kubernetes" {
  alias = "r4"
}
mock_provider "cloudflare" {}

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
}

run "three_home_regions_in_order" {
  command = plan

  assert {
    condition     = contains(output.regions["us-east"].edge.args, "--origin=http://origin-us-east.statusedge.svc.cluster.local:7070,http://origin-eu-west-0.origin-eu-west-peers.statusedge.svc.cluster.local:7070,http://origin-ap-south-0.origin-ap-south-peers.statusedge.svc.cluster.local:7070,http://origin-us-west-0.origin-us-west-peers.statusedge.svc.cluster.local:7070,http://origin-sa-east-0.origin-sa-east-peers.statusedge.svc.cluster.local:7070")
    error_message = "an edge reads from its own region's origin first, then pod 0 of every other region: got ${jsonencode(output.regions["us-east"].edge.args)}"
  }

  assert {
    condition = alltrue(flatten([for r in output.regions : [
      r.origin.image == var.image,
      r.edge.image == var.image,
    ]]))
    error_message = "every origin and edge of every region must run var.image"
  }

  assert {
    condition     = output.rollout_order == ["eu-west", "us-east", "ap-south", "us-west", "sa-east"]
    error_message = "regions must roll out in the order var.regions lists them, got ${jsonencode(output.rollout_order)}"
  }
  assert {
    condition     = length(output.regions) == 5 && alltrue([for r in var.regions : output.regions[r.name].origin.name == "origin-${r.name}"])
    error_message = "want one origin StatefulSet, origin-<region>, per region"
  }
  assert {
    condition = alltrue([for r in var.regions :
      output.regions[r.name].origin.voter == (r.role == "voter") &&
      contains(output.regions[r.name].origin.args, "--voter=${r.role == "voter"}")
    ])
    error_message = "each region's origin must pass --voter=true for voter regions and --voter=false for non-voter ones"
  }
  assert {
    condition     = output.voters.count == 3 && output.voters.by_region == { "eu-west" = 1, "us-east" = 1, "ap-south" = 1, "us-west" = 0, "sa-east" = 0 }
    error_message = "the 3 home regions hold the 3 voters, the others none: got ${jsonencode(output.voters)}"
  }
  assert {
    condition     = output.regions["us-west"].origin.replicas == 2 && output.regions["eu-west"].origin.replicas == 1
    error_message = "origin replicas must follow regions[*].origin_replicas"
  }
  assert {
    condition     = alltrue([for r in var.regions : contains(output.regions[r.name].origin.args, "--region=${r.name}") && contains(output.regions[r.name].edge.args, "--region=${r.name}")])
    error_message = "origins and edges must be told their region"
  }
  assert {
    condition     = [for r in var.regions : output.regions[r.name].rollout_after] == ["", "eu-west", "us-east", "ap-south", "us-west"]
    error_message = "region N+1 must be rolled out after region N is healthy: got ${jsonencode([for r in var.regions : output.regions[r.name].rollout_after])}"
  }
  assert {
    condition     = alltrue([for r in output.regions : r.origin.update_strategy == "RollingUpdate"])
    error_message = "by default origins roll (and Terraform waits for them) one pod at a time"
  }
  assert {
    condition = alltrue([for r in output.regions :
      contains(r.origin.args, "--join=http://origin-eu-west-0.origin-eu-west-peers.statusedge.svc.cluster.local:7070") &&
      !contains(r.origin.args, "--bootstrap")
    ])
    error_message = "after the bootstrap every origin pod (the first region's too) joins through the first region's pod 0, and none bootstraps"
  }
  assert {
    condition = alltrue([for k, r in output.regions :
      contains(r.origin.args, "--raft-advertise=$(POD_NAME).origin-${k}-peers.statusedge.svc.cluster.local:7000")
    ])
    error_message = "origin pods advertise their per-pod DNS name through the region's headless peers Service"
  }
  assert {
    condition     = output.voters.fault_tolerance == 1
    error_message = "3 voters tolerate 1 failure"
  }
  assert {
    condition     = sum([for r in var.regions : output.regions[r.name].origin.max_unavailable if r.role == "voter"]) <= output.voters.fault_tolerance
    error_message = "the voter regions' PodDisruptionBudgets together may take at most fault_tolerance voters: got ${jsonencode({ for k, r in output.regions : k => r.origin.max_unavailable })}"
  }
  assert {
    condition     = output.regions["eu-west"].origin.max_unavailable == 1 && output.regions["us-east"].origin.max_unavailable == 0
    error_message = "the leftover tolerance goes to the earliest voter region"
  }
}

run "bootstrap_starts_the_first_region_with_one_bootstrapping_pod" {
  command = plan

  variables {
    bootstrap = true
  }
  assert {
    condition     = output.regions["eu-west"].origin.replicas == 1 && contains(output.regions["eu-west"].origin.args, "--bootstrap")
    error_message = "with bootstrap the first region runs only pod 0, with --bootstrap"
  }
  assert {
    condition     = length([for a in output.regions["eu-west"].origin.args : a if startswith(a, "--join")]) == 0
    error_message = "the bootstrapping pod must not also --join (the binary refuses both)"
  }
  assert {
    condition     = contains(output.regions["eu-west"].origin.args, "--bootstrap-peers=http://origin-us-east-0.origin-us-east-peers.statusedge.svc.cluster.local:7070,http://origin-ap-south-0.origin-ap-south-peers.statusedge.svc.cluster.local:7070,http://origin-us-west-0.origin-us-west-peers.statusedge.svc.cluster.local:7070,http://origin-sa-east-0.origin-sa-east-peers.statusedge.svc.cluster.local:7070")
    error_message = "the bootstrap must name pod 0 of every other region as a peer, so it is refused if the cluster already exists: got ${jsonencode(output.regions["eu-west"].origin.args)}"
  }
  assert {
    condition     = alltrue([for n in ["us-east", "ap-south", "us-west", "sa-east"] : !contains(output.regions[n].origin.args, "--bootstrap") && output.regions[n].origin.bootstrap == false])
    error_message = "only the first region bootstraps"
  }
}

run "nine_voters_share_the_fault_tolerance_on_delete" {
  command = plan

  variables {
    origin_update_strategy = "OnDelete"
    regions = [
      { name = "eu-west", kube_context = "gke-eu-west", role = "voter", origin_replicas = 3 },
      { name = "us-east", kube_context = "eks-us-east", role = "voter", origin_replicas = 3 },
      { name = "ap-south", kube_context = "gke-ap-south", role = "voter", origin_replicas = 3 },
      { name = "us-west", kube_context = "eks-us-west", role = "non-voter", origin_replicas = 2 },
    ]
  }
  assert {
    condition     = output.voters.count == 9 && output.voters.fault_tolerance == 4
    error_message = "9 voters tolerate 4 failures: got ${jsonencode(output.voters)}"
  }
  assert {
    condition     = sum([for n in ["eu-west", "us-east", "ap-south"] : output.regions[n].origin.max_unavailable]) == 4
    error_message = "the voter regions share the whole tolerance (4), no more: got ${jsonencode({ for k, r in output.regions : k => r.origin.max_unavailable })}"
  }
  assert {
    condition     = alltrue([for n in ["eu-west", "us-east", "ap-south"] : output.regions[n].origin.max_unavailable < 3])
    error_message = "no region's budget may let all its voters go"
  }
  assert {
    condition     = output.regions["us-west"].origin.max_unavailable == 1
    error_message = "a non-voter region's origins take nothing from the quorum"
  }
  assert {
    condition     = alltrue([for r in output.regions : r.origin.update_strategy == "OnDelete"])
    error_message = "origin_update_strategy must reach every region"
  }
}
