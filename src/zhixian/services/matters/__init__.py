"""政务服务事项清单: the catalogue, its rules and its workbook."""
