// Reads a JSON array of custom resources on stdin; prints a JSON array with, per object,
// every schema error the kubernetes-models validators (compiled from the projects' CRDs) report.
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";

const MODELS = {
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
};

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map((obj) => {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) return { name: obj.metadata?.name, errors: [`no CRD schema for ${obj.apiVersion}/${obj.kind}`] };
  try {
    new Model(obj).validate();
    return { name: obj.metadata?.name, errors: [] };
  } catch (e) {
    const errors = (e.errors ?? [e.message]).map((x) => (typeof x === "string" ? x : `${x.instancePath} ${x.message}`));
    return { name: obj.metadata?.name, errors };
  }
});
process.stdout.write(JSON.stringify(results));
