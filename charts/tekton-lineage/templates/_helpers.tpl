{{/* The image: by digest when one is given, else by tag (v<appVersion> unless set). */}}
{{- define "tekton-lineage.image" -}}
{{- with .Values.image -}}
{{- if .digest -}}
{{ .repository }}@{{ .digest }}
{{- else -}}
{{ .repository }}:{{ .tag | default (printf "v%s" $.Chart.AppVersion) }}
{{- end -}}
{{- end -}}
{{- end }}

{{/* A setting's ConfigMap value: (list $ "<flag>" "<release value>") → settings.<flag> when set, else the release's. */}}
{{- define "tekton-lineage.setting" -}}
{{- $settings := (index . 0).Values.settings | default dict -}}
{{- if hasKey $settings (index . 1) -}}
{{- index $settings (index . 1) | toString | quote -}}
{{- else -}}
{{- index . 2 | quote -}}
{{- end -}}
{{- end }}
