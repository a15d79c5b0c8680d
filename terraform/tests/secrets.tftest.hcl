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

run "secrets_stay_secret" {
  command = plan

  variables {
    dns = null
  }
  assert {
    condition     = alltrue([issensitive(var.operator_token), issensitive(var.cluster_secret), issensitive(var.edge_secret), issensitive(var.gossip_key), issensitive(var.cert_secret), issensitive(var.cloudflare_api_token)])
    error_message = "every secret input must be declared sensitive"
  }
  assert {
    condition = alltrue([for r in output.regions :
      length(setsubtract(["STATUSEDGE_OPERATOR_TOKEN", "STATUSEDGE_CLUSTER_SECRET", "STATUSEDGE_EDGE_SECRET", "STATUSEDGE_GOSSIP_KEY"], r.origin.env_from_secret)) == 0 &&
      length([for e in r.origin.env_inline : e if startswith(e, "STATUSEDGE_")]) == 0
    ])
    error_message = "origins must read all four secrets from their Secret, none inline in the pod spec"
  }
  assert {
    condition     = alltrue([for r in output.regions : toset(r.edge.env_from_secret) == toset(["STATUSEDGE_EDGE_SECRET", "STATUSEDGE_GOSSIP_KEY"]) && length(r.edge.env_inline) == 0])
    error_message = "edges must get exactly the edge secret and the gossip key, from their Secret: never the cluster secret or the operator token"
  }
  assert {
    condition = !anytrue(flatten([
      for s in [var.operator_token, var.cluster_secret, var.edge_secret, var.gossip_key] : [
        for o in [
          output.rollout_order,
          output.voters,
          [for r in output.regions : [r.rollout_after, r.origin, r.edge]],
        ] : strcontains(jsonencode(o), nonsensitive(s))
      ]
    ]))
    error_message = "an output (or an origin or edge argument, which the outputs list) carries a secret"
  }
  assert {
    condition     = alltrue([for o in [output.regions, output.rollout_order, output.voters] : !issensitive(o)])
    error_message = "no output may be (or need to be) sensitive: secrets stay out of outputs altogether"
  }
}
