{{/* The release's name for every object: <release>-mezame, or the release when it already says mezame. */}}
{{- define "mezame.fullname" -}}
{{- if contains "mezame" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-mezame" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mezame.selectorLabels" -}}
app.kubernetes.io/name: mezame
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mezame.labels" -}}
{{ include "mezame.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "mezame.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "mezame.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: the existing ServiceAccount to run as (serviceAccount.create is false)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Who the roles are bound to: the ServiceAccount, and rbac.group (remote clusters). */}}
{{- define "mezame.subjects" -}}
subjects:
  - kind: ServiceAccount
    name: {{ include "mezame.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
  {{- with .Values.rbac.group }}
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: {{ . }}
  {{- end }}
{{- end }}
